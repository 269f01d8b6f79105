/** The `wharf` command line. Each subcommand lives in its own module and registers itself here. */
import { Command } from 'commander';
import { WHARF_VERSION } from '../core/version.js';
import { registerAudit } from './audit.js';
import { registerAccess } from './access.js';
import { registerAuth } from './auth.js';
import { registerBackup } from './backup.js';
import { registerDeploy } from './deploy.js';
import { exitQuietlyWhenOutputCloses } from './closed-output.js';
import { registerDemo } from './demo.js';
import { EXIT_CODES, exitCodesHelp } from './exit-codes.js';
import { registerExport } from './export.js';
import { registerJobWorker } from './job-worker.js';
import { registerJob } from './job.js';
import { registerLogin } from './login.js';
import { registerLogsAndPredict } from './logs-predict.js';
import { registerModel } from './model.js';
import { registerApp } from './app.js';
import { registerSecret } from './secret.js';
import { registerPolicy } from './policy.js';
import { registerServeModel } from './serve-model.js';
import { registerToken } from './token.js';
import { registerUp } from './up.js';
import { registerUsers } from './users.js';

exitQuietlyWhenOutputCloses();

const program = new Command('wharf')
  .description('Wharf: deploy machine-learning models from one laptop to a Kubernetes fleet')
  .version(WHARF_VERSION)
  // Options after a subcommand belong to it: `serve-model --version 2` is the model's version.
  .enablePositionalOptions()
  .showHelpAfterError('(add --help for usage)')
  .configureOutput({ outputError: (text, write) => write(`wharf: ${text.replace(/^error: /, '')}`) })
  .addHelpText('after', exitCodesHelp())
  // A bad command line (unknown flag, bad value, missing option) is a usage error; help and
  // --version are successes. Set before the subcommands are added, which inherit it.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT_CODES.ok.code : EXIT_CODES.usage.code));

registerUp(program);
registerModel(program);
registerApp(program);
registerDeploy(program);
registerLogsAndPredict(program);
registerServeModel(program);
registerDemo(program);
registerExport(program);
registerAudit(program);
registerSecret(program);
registerAuth(program);
// After `auth`: adds `auth can-i` to it.
registerAccess(program);
registerLogin(program);
registerToken(program);
registerUsers(program);
registerPolicy(program);
registerJobWorker(program);
registerBackup(program);
registerJob(program);

await program.parseAsync(process.argv);
