/**
 * Half-precision conversions, shared with `@icot/onnx-proto` (where ONNX float16 initializers are
 * written): `float16ToFloat32` reads through a 65,536-entry lookup table.
 */
export { float16ToFloat32, float32ToFloat16, fromHalf, halfTable, toHalf } from '@icot/onnx-proto';
