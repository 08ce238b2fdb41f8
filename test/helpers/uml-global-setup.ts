/**
 * Global setup of vitest.uml.config.ts: its files only make sense inside user-mode-linux, where
 * lab/uml.ts's init exports CALICO_DIAG_UML (the kernel release). Anywhere else the run stops with
 * how to run them.
 */
import { readFileSync } from 'node:fs';

export default function setup(): void {
  const want = process.env.CALICO_DIAG_UML;
  const running = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  if (want === undefined || want !== running) {
    throw new Error(
      `test/**/*.uml.test.ts run inside user-mode-linux only (this kernel is ${running}${want === undefined ? '' : `, CALICO_DIAG_UML=${want}`}): npm run test:uml -- <file>`,
    );
  }
}
