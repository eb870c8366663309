import { execFile } from 'node:child_process';
import type { Logger } from '../lib/logger.ts';
import type { Dns01Challenge, Dns01Provider, Dns01Timing } from './dns01-provider.ts';
import { ProviderEnv } from './env.ts';

/** Settings of {@link ExecProvider} (lego's `EXEC_*`). */
export interface ExecOptions {
  /** The program to run (`EXEC_PATH`). */
  readonly path: string;
  /** `RAW` hands over domain, token and key authorisation instead of FQDN and value. */
  readonly raw: boolean;
  readonly timing: Dns01Timing;
  /** Longest a run may take before it is killed. */
  readonly runTimeoutMs: number;
}

/** Reads `EXEC_PATH` (required), `EXEC_MODE`, `EXEC_PROPAGATION_TIMEOUT`, `EXEC_POLLING_INTERVAL`. */
export function execOptions(env: ProviderEnv): ExecOptions {
  const mode = (env.get('EXEC_MODE') ?? '').toUpperCase();
  if (mode !== '' && mode !== 'RAW') throw env.error(`EXEC_MODE "${mode}" is not known (RAW, or unset)`);
  return {
    path: env.require('EXEC_PATH', 'the program that adds and removes TXT records'),
    raw: mode === 'RAW',
    timing: env.timing('EXEC'),
    runTimeoutMs: Math.max(60_000, env.seconds('EXEC_PROPAGATION_TIMEOUT', 0)),
  };
}

/**
 * lego's `exec` provider: runs `EXEC_PATH present <fqdn> <value>` and `EXEC_PATH cleanup <fqdn>
 * <value>` (FQDN with its trailing dot), or with `EXEC_MODE=RAW` `present <domain> <token>
 * <keyAuth>`. The program gets berth's environment; a non-zero exit fails the challenge with its
 * output. No shell is involved, so the values cannot be interpreted as commands.
 */
export class ExecProvider implements Dns01Provider {
  readonly name = 'exec';
  readonly timing: Dns01Timing;
  private readonly opts: ExecOptions;
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: Logger | undefined;

  constructor(opts: ExecOptions, env: NodeJS.ProcessEnv, log?: Logger) {
    this.opts = opts;
    this.env = env;
    this.log = log;
    this.timing = opts.timing;
  }

  present(c: Dns01Challenge): Promise<void> {
    return this.run('present', c);
  }

  cleanup(c: Dns01Challenge): Promise<void> {
    return this.run('cleanup', c);
  }

  private run(action: 'present' | 'cleanup', c: Dns01Challenge): Promise<void> {
    const args = this.opts.raw ? [action, c.domain, c.token, c.keyAuthorization] : [action, c.effectiveFqdn, c.value];
    return new Promise((resolve, reject) => {
      execFile(
        this.opts.path,
        args,
        { env: this.env, timeout: this.opts.runTimeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          const output = `${stdout}${stderr}`.trim();
          if (output)
            this.log?.debug({ program: this.opts.path, action, output: output.slice(-2000) }, 'dns-01 exec output');
          if (!err) return resolve();
          const how = err.killed
            ? `was killed after ${this.opts.runTimeoutMs} ms`
            : typeof err.code === 'number'
              ? `exited with status ${err.code}`
              : err.message;
          reject(
            new Error(`exec: ${this.opts.path} ${action} ${args[1]} ${how}${output ? `: ${output.slice(-500)}` : ''}`, {
              cause: err,
            }),
          );
        },
      );
    });
  }
}

/** Builds the provider from the environment. */
export function createExecProvider(env: NodeJS.ProcessEnv, log?: Logger): ExecProvider {
  return new ExecProvider(execOptions(new ProviderEnv('exec', env)), env, log);
}
