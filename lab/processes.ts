/**
 * The real calico-diag processes in a lab: one agent per node namespace and the aggregator in its
 * own namespace, all started from the repository (`node --import tsx cli/main.ts ...` from sources,
 * `node dist/cli/main.js ...` from a build) with logs in the lab's run directory.
 *
 * State: a LabProcesses object owns the daemons it started (a Map per role) and the token file;
 * starts/stops for one node are not concurrent with each other (callers await them). Lab teardown
 * kills anything left through `ip netns pids`, so a crash cannot leak a daemon.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentControl } from './faults.js';
import { inNs } from './sh.js';
import { nodeEntry, spawnInNs, type Daemon } from './spawn.js';
import { waitForHttp, type Lab } from './topology.js';

export const AGENT_PORT = 9477;
export const AGGREGATOR_PORT = 9478;

export interface LabProcessOptions {
  /** agent snapshot interval, seconds */
  intervalS?: number;
  /** aggregator: a node is stale after this many missed intervals */
  staleIntervals?: number;
  /** extra env for every process (e.g. LOG_LEVEL) */
  env?: Record<string, string>;
  /** how long a daemon may take to answer /healthz after its start (default 30 s; slow kernels such as user-mode-linux need more) */
  startDeadlineMs?: number;
}

export interface LabProcesses extends AgentControl {
  readonly tokenFile: string;
  readonly token: string;
  readonly intervalS: number;
  readonly aggregatorUrl: string;
  readonly agents: Map<string, Daemon>;
  aggregator: Daemon | undefined;
  /** Starts the aggregator unless it runs; `extraEnv` adds to the processes' env (e.g. a setting). */
  startAggregator(extraEnv?: Record<string, string>): Promise<void>;
  startAgents(): Promise<void>;
  /** GET a path on the aggregator from inside its namespace (curl), parsed as JSON. */
  aggregatorGet<T = unknown>(path: string): Promise<{ status: number; body: T }>;
  /** POST JSON to the aggregator from inside its namespace. */
  aggregatorPost<T = unknown>(path: string, body: unknown, timeoutS?: number): Promise<{ status: number; body: T }>;
  /** last lines of a daemon's log, for failure messages */
  logTail(name: string, lines?: number): string;
  stopAll(): Promise<void>;
}

export const startLabProcesses = (lab: Lab, opts: LabProcessOptions = {}): LabProcesses => {
  const intervalS = opts.intervalS ?? 2;
  const staleIntervals = opts.staleIntervals ?? 3;
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(lab.runDir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const headerFile = join(lab.runDir, 'auth-header');
  writeFileSync(headerFile, `Authorization: Bearer ${token}\n`, { mode: 0o600 });
  const aggregatorUrl = `http://${lab.aggregatorIp}:${AGGREGATOR_PORT}`;
  const agents = new Map<string, Daemon>();
  const cli = nodeEntry('cli/main');
  const env = { LOG_LEVEL: 'info', ...opts.env };

  const startAgent = async (name: string): Promise<void> => {
    const n = lab.node(name);
    const prev = agents.get(name);
    if (prev?.isRunning()) return;
    const d = spawnInNs({
      name: `agent-${name}`,
      ns: n.ns,
      argv: [
        ...cli, 'agent',
        '--node-name', n.name,
        '--listen', `0.0.0.0:${AGENT_PORT}`,
        '--token-file', tokenFile,
        '--interval', String(intervalS),
        '--aggregator-url', aggregatorUrl,
        '--advertise-url', `http://${n.nodeIp}:${AGENT_PORT}`,
        ...(n.birdSocket !== null ? ['--bird-socket', n.birdSocket] : []),
      ],
      logFile: join(lab.runDir, `agent-${name}.log`),
      // captures in the lab's own directory: the default (<tmpdir>/calico-diag-captures-<node>) is
      // shared by every lab on the machine with a node of that name, whose agents prune each other's
      env: { CALICO_DIAG_CAPTURE_DIR: join(lab.runDir, `captures-${name}`), ...env },
    });
    agents.set(name, d);
    await waitUp(d, n.ns, `http://127.0.0.1:${AGENT_PORT}/healthz`);
  };

  const waitUp = async (d: Daemon, ns: string, url: string): Promise<void> => {
    const died = d.exited.then(() => {
      throw new Error(`${d.name} exited during start-up; log:\n${tail(d.logFile, 30)}`);
    });
    await Promise.race([waitForHttp(lab.sh, ns, url, opts.startDeadlineMs ?? 30_000), died]);
    died.catch(() => undefined);
  };

  const curl = async <T>(args: string[], timeoutS: number): Promise<{ status: number; body: T }> => {
    const res = await lab.sh.try(
      inNs(lab.aggregatorNs, ['curl', '-s', '--max-time', String(timeoutS), '-H', `@${headerFile}`, '-w', '\n%{http_code}', ...args]),
      { timeoutMs: (timeoutS + 5) * 1000 },
    );
    const out = res.stdout;
    const cut = out.lastIndexOf('\n');
    const status = Number(out.slice(cut + 1).trim());
    const text = out.slice(0, cut);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status, body: body as T };
  };

  const procs: LabProcesses = {
    tokenFile,
    token,
    intervalS,
    aggregatorUrl,
    agents,
    aggregator: undefined,
    startAggregator: async (extraEnv = {}) => {
      if (procs.aggregator?.isRunning()) return;
      const d = spawnInNs({
        name: 'aggregator',
        ns: lab.aggregatorNs,
        argv: [
          ...cli, 'aggregator',
          '--listen', `0.0.0.0:${AGGREGATOR_PORT}`,
          '--token-file', tokenFile,
          '--stale-intervals', String(staleIntervals),
          '--kube', 'off',
        ],
        logFile: join(lab.runDir, 'aggregator.log'),
        env: { ...env, CALICO_DIAG_INTERVAL: String(intervalS), ...extraEnv },
      });
      procs.aggregator = d;
      await waitUp(d, lab.aggregatorNs, `http://127.0.0.1:${AGGREGATOR_PORT}/healthz`);
    },
    startAgents: async () => {
      await Promise.all(lab.nodes.map((n) => startAgent(n.name)));
    },
    startAgent,
    killAgent: async (name) => {
      await agents.get(name)?.kill();
    },
    aggregatorGet: (path) => curl([`http://127.0.0.1:${AGGREGATOR_PORT}${path}`], 10),
    aggregatorPost: (path, body, timeoutS = 30) =>
      curl(['-X', 'POST', '-H', 'content-type: application/json', '--data-binary', JSON.stringify(body), `http://127.0.0.1:${AGGREGATOR_PORT}${path}`], timeoutS),
    logTail: (name, lines = 40) => {
      const d = name === 'aggregator' ? procs.aggregator : agents.get(name.replace(/^agent-/, ''));
      return d ? tail(d.logFile, lines) : `(no process ${name})`;
    },
    stopAll: async () => {
      await Promise.all([...agents.values()].map((d) => d.stop()));
      await procs.aggregator?.stop();
    },
  };
  return procs;
};

const tail = (file: string, lines: number): string => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
};
