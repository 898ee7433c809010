import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';

/** Standard input ended before an answer was given. */
export class InputClosedError extends Error {
  constructor() {
    super('Input ended before every question was answered');
  }
}

/**
 * Questions on the terminal. One line reader serves every question, so answers typed (or
 * pasted) ahead are kept for the next question instead of being lost.
 */
class Prompter {
  private readonly rl: Interface;
  private readonly lines: string[] = [];
  private readonly waiting: ((line: string | null) => void)[] = [];
  private closed = false;
  private muted = false;

  constructor() {
    const output = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (!this.muted) process.stdout.write(chunk);
        cb();
      },
    });
    this.rl = createInterface({
      input: process.stdin,
      output,
      prompt: '',
      terminal: process.stdin.isTTY === true,
    });
    this.rl.on('line', (line) => {
      const next = this.waiting.shift();
      if (next) next(line);
      else this.lines.push(line);
    });
    this.rl.on('close', () => {
      this.closed = true;
      for (const next of this.waiting.splice(0)) next(null);
    });
  }

  async ask(question: string, hidden: boolean): Promise<string> {
    process.stdout.write(question);
    this.muted = hidden;
    const line =
      this.lines.shift() ??
      (this.closed ? null : await new Promise<string | null>((r) => this.waiting.push(r)));
    this.muted = false;
    if (hidden) process.stdout.write('\n');
    if (line === null) throw new InputClosedError();
    return line;
  }

  close(): void {
    this.rl.close();
  }
}

let prompter: Prompter | undefined;

/** Asks one question on the terminal; `hidden` does not echo what is typed. */
export function ask(question: string, hidden = false): Promise<string> {
  prompter ??= new Prompter();
  return prompter.ask(question, hidden);
}

/** Releases the terminal (call when a command is done asking). */
export function closePrompts(): void {
  prompter?.close();
  prompter = undefined;
}

/** Reads all of standard input (for --password-stdin). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}
