// Runs one measured command in this process and reports its CPU time and peak RSS on fd 3:
//   node bench/in-process.js passthrough            (the baseline: stdin → stdout)
//   node bench/in-process.js pgcloak mask ...       (the CLI, as a user runs it)
import { readFileSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';

const [what, ...args] = process.argv.slice(2);
let code = 0;
if (what === 'passthrough') {
  await pipeline(process.stdin, process.stdout);
} else {
  const { main } = await import('../dist/cli/main.js');
  code = await main(args);
}
const ru = process.resourceUsage();
// VmHWM, not ru.maxRSS: Linux carries maxRSS across exec from the forking parent.
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
const maxRssKiB = hwm ? Number(hwm[1]) : ru.maxRSS;
writeSync(3, JSON.stringify({ code, maxRssKiB, userUs: ru.userCPUTime, systemUs: ru.systemCPUTime }));
process.exitCode = code;
