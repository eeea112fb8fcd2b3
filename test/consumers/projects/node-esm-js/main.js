import * as gradlab from 'gradlab';
import { train } from './train.js';

console.log(JSON.stringify(await train(gradlab)));
