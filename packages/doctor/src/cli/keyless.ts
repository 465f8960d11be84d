import { Command, InvalidArgumentError } from 'commander';
import { renderDoctorReport } from '../report-table.js';
import { defaultTimeoutMs, runDoctor } from '../run-doctor.js';

/**
 * `keyless doctor [--config file.json] [--json] [--timeout ms]`: exit code 0 when everything
 * configured works, 1 when something does not (the report says what and how to fix it), 2 for bad
 * usage.
 */
const program = new Command('keyless')
  .description('keyless: managed-identity access to Azure resources without stored credentials')
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program
  .command('doctor')
  .description(
    'check the host, the identity, a token and a read-only probe per configured resource, and the clock; print the fix for every failure',
  )
  .option('--config <file>', 'a JSON options file; its members win over the KEYLESS_* / Azure variables')
  .option('--json', 'print the report as JSON instead of a table')
  .option(
    '--timeout <ms>',
    `how long each token request, probe and clock check may take (default ${defaultTimeoutMs})`,
    (value) => {
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < 100 || parsed > 600_000)
        throw new InvalidArgumentError('give whole milliseconds between 100 and 600000');
      return parsed;
    },
  )
  .action(async (options: { config?: string; json?: boolean; timeout?: number }) => {
    const report = await runDoctor({
      ...(options.config ? { configFile: options.config } : {}),
      ...(options.timeout ? { timeoutMs: options.timeout } : {}),
    });
    process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : renderDoctorReport(report)}\n`);
    process.exitCode = report.ok ? 0 : 1;
    // Everything the doctor opened is closed by now; this only ends a process that a library's
    // stray handle would keep alive, after the output has been written.
    setTimeout(() => process.exit(process.exitCode), 2_000).unref();
  });

await program.parseAsync(process.argv);
