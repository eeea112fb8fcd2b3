// Compiled by tsc with each module/moduleResolution/lib setting of run.mjs, then run by Node.
import * as gradlab from 'gradlab';
import { train } from './train.js';

train(gradlab).then((result) => console.log(JSON.stringify(result)));
