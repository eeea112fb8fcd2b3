import * as gradlab from 'gradlab';
import { train } from './train.mjs';

console.log(JSON.stringify(await train(gradlab)));
