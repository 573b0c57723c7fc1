// Splits the lab VM's console stream in two as it arrives: the lines L1's init prints about itself
// (`iopath-lab: ...`) and L1's kernel messages (`[   94.03] ...`) go to the lab's log; everything
// else (the command's own output) passes through unchanged and at once, except that the serial
// line's CR LF becomes LF.

const PREFIX = 'iopath-lab: ';
const KERNEL = /^\[\s*\d+\.\d+\] /;

export class ConsoleSplitter {
  #held = '';
  readonly #output: (text: string) => void;
  readonly #own: (line: string) => void;

  constructor(output: (text: string) => void, own: (line: string) => void) {
    this.#output = output;
    this.#own = own;
  }

  write(chunk: string): void {
    let text = this.#held + chunk;
    this.#held = '';
    let out = '';
    for (;;) {
      const nl = text.indexOf('\n');
      if (nl < 0) break;
      const line = text.slice(0, nl).replace(/\r$/, '');
      text = text.slice(nl + 1);
      if (line.startsWith(PREFIX) || KERNEL.test(line)) {
        this.#flush(out);
        out = '';
        this.#own(line.startsWith(PREFIX) ? line.slice(PREFIX.length) : `L1 kernel: ${line}`);
      } else {
        out += `${line}\n`;
      }
    }
    // A partial line is passed on at once unless it may still turn out to be one of init's lines.
    if (text.startsWith(PREFIX) || (PREFIX.startsWith(text) && text !== '')) this.#held = text;
    else out += text;
    this.#flush(out);
  }

  /** Whatever is held back when the console closes. */
  end(): void {
    if (this.#held) this.#output(this.#held);
    this.#held = '';
  }

  #flush(text: string): void {
    if (text) this.#output(text);
  }
}
