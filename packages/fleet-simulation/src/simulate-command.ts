import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { compareFleets, formatComparison } from './fleet-simulation.js';
import { defaultScenario, hour } from './scenario.js';

const usage = `Usage: pnpm simulate:fleet [options]
  --seed <n>             random seed (default 7)
  --vms <n>              VMs (default 100), 10 instances each
  --hours <n>            simulated hours (default 48)
  --imds-fresh-tokens    IMDS mints a new token on every request instead of reusing its cached one
  --json <file>          also write the full results as JSON`;

// `pnpm simulate:fleet -- --seed 3` hands the separator through; it means nothing here.
const given = process.argv.slice(2);
const { values } = parseArgs({
  args: given[0] === '--' ? given.slice(1) : given,
  options: {
    seed: { type: 'string' },
    vms: { type: 'string' },
    hours: { type: 'string' },
    'imds-fresh-tokens': { type: 'boolean' },
    json: { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  console.log(usage);
} else {
  const scenario = defaultScenario();
  const whole = (text: string | undefined, name: string) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name} takes a whole number above 0\n${usage}`);
    return value;
  };
  scenario.seed = whole(values.seed, 'seed') ?? scenario.seed;
  scenario.vmCount = whole(values.vms, 'vms') ?? scenario.vmCount;
  scenario.durationMs = (whole(values.hours, 'hours') ?? scenario.durationMs / hour) * hour;
  if (values['imds-fresh-tokens']) scenario.imds.reuseTokensUntilRemainingMs = undefined;

  const instances = scenario.vmCount * scenario.instancesPerVm;
  console.log(
    `Fleet simulation: ${instances.toLocaleString('en-US')} instances on ${scenario.vmCount} VMs, ` +
      `${scenario.durationMs / hour} h of virtual time, seed ${scenario.seed}` +
      (values['imds-fresh-tokens'] ? ', IMDS minting a fresh token per request' : ''),
  );
  const comparison = await compareFleets(scenario);
  console.log(`\n${formatComparison(comparison)}\n`);
  const cpu = comparison.cpuSeconds;
  console.log(`CPU: keyless ${cpu.keyless.toFixed(1)} s, raw libraries ${cpu.raw.toFixed(1)} s`);
  if (values.json !== undefined) {
    await writeFile(values.json, `${JSON.stringify(comparison, null, 2)}\n`);
    console.log(`JSON written to ${values.json}`);
  }
}
