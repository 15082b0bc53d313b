// Runs every audit of the graphql-http package against a running server and fails when a
// MUST audit fails. Usage: node audit.mjs http://127.0.0.1:PORT/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
let passed = 0;
let failed = 0;
let warned = 0;
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    passed++;
  } else if (audit.name.startsWith('MUST')) {
    failed++;
    console.log(`FAIL ${audit.name}: ${result.reason}`);
  } else {
    warned++;
  }
}
console.log(`graphql-http audits: ${passed} passed, ${failed} failed, ${warned} SHOULD/MAY not met`);
process.exit(failed === 0 ? 0 : 1);
