// Errors cross the child-process boundary as @icot/core's wire errors (one implementation, shared with the browser worker of @icot/backend-web).
export { fromWireError, toWireError, type WireError } from '@icot/core';
