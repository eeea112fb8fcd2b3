import * as gradlab from 'gradlab';
import { train } from './train.js';

train(gradlab).then(
  (result) => (window.gradlabResult = result),
  (error) => (window.gradlabFailure = String(error?.stack ?? error)),
);
