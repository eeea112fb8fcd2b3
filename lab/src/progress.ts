/**
 * Progress display: one live bar per run on a terminal, plain lines (at each quarter and at
 * the end of a run) otherwise. Writes to stderr so stdout stays clean for tables or JSON.
 */
interface RunState {
  label: string;
  done: number;
  total: number;
  reported: number;
}

const BAR_WIDTH = 28;

export class Progress {
  private readonly runs = new Map<string, RunState>();
  private readonly tty: boolean;
  private drawnLines = 0;
  private lastDraw = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = stream.isTTY === true;
  }

  update(experiment: string, run: string, done: number, total: number): void {
    const key = `${experiment}/${run}`;
    const state = this.runs.get(key) ?? { label: `${experiment} ${run}`, done: 0, total, reported: 0 };
    state.done = done;
    state.total = total;
    this.runs.set(key, state);
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw > 80 || done === total) this.draw(now);
      return;
    }
    const quarter = Math.floor((4 * done) / Math.max(total, 1));
    if (quarter > state.reported) {
      state.reported = quarter;
      this.stream.write(`${state.label}: ${done}/${total}${done === total ? ' done' : ''}\n`);
    }
  }

  private draw(now: number): void {
    this.lastDraw = now;
    const width = Math.max(...[...this.runs.values()].map((r) => r.label.length));
    const lines = [...this.runs.values()].map((r) => {
      const fraction = r.total > 0 ? r.done / r.total : 1;
      const filled = Math.round(fraction * BAR_WIDTH);
      return `${r.label.padEnd(width)} [${'█'.repeat(filled)}${'·'.repeat(BAR_WIDTH - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
    });
    if (this.drawnLines > 0) this.stream.write(`\x1b[${this.drawnLines}A`);
    this.stream.write(lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawnLines = lines.length;
  }
}
