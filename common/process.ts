import type { Logger } from 'pino';

/** Resolves on the first SIGTERM or SIGINT (logged), then stops listening: the daemons' wait. */
export const untilStopSignal = (logger: Logger): Promise<void> =>
  new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

/**
 * For one-shot commands: on SIGINT or SIGTERM run `cleanup` (kill what the process started) and
 * exit with 128 + the signal number, as a shell expects. A signal some other listener handles (a
 * daemon's `untilStopSignal`) is left to it; a second one, after that listener is gone, exits here.
 */
export const exitOnSignals = (cleanup: () => void): void => {
  for (const signal of Object.keys(SIGNAL_NUMBERS) as (keyof typeof SIGNAL_NUMBERS)[]) {
    const handler = () => {
      if (process.listenerCount(signal) > 1) return;
      cleanup();
      process.exit(128 + SIGNAL_NUMBERS[signal]);
    };
    process.on(signal, handler);
  }
};
