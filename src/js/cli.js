#!/usr/bin/env node
console.error('cachet: CLI not written yet');
process.exit(2);
