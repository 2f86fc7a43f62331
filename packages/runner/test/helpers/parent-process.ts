// A parent process for the parent-death tests: starts a ChildRunner, runs the description given
// as JSON in argv[3], prints "child <pid>" (mode "prefill": when the prefill starts; mode "idle":
// after the run), then stays alive until it is killed.
import { createChildRunner, type RunDescription } from '@icot/runner';

const [mode, json] = process.argv.slice(2);
const description = JSON.parse(json!) as RunDescription;
const runner = createChildRunner();
setInterval(() => {}, 1000); // the runner does not keep this process alive between runs
if (mode === 'prefill') {
  runner.run(description, { onEvent: (event) => void (event.type === 'start' && process.stdout.write(`child ${runner.pid}\n`)) }).catch(() => {});
} else {
  await runner.run(description);
  process.stdout.write(`child ${runner.pid}\n`);
}
