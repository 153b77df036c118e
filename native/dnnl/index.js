'use strict';
// The compiled addon; lmc-lab's lib/backend/native-conv.ts describes its interface.
module.exports = require('./build/Release/lmc_dnnl.node');
