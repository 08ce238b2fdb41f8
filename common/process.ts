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
