const gradlab = require('gradlab');
const { train } = require('./train.js');

train(gradlab).then((result) => console.log(JSON.stringify(result)));
