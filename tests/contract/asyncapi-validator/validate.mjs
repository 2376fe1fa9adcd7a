// Validate an AsyncAPI document with the official parser (@asyncapi/parser, pinned in package.json).
//
//   node validate.mjs <file>
//
// Prints every diagnostic (errors, warnings, infos, hints) as "severity path: message" and exits 1
// when the document has an error or could not be parsed, 2 on a usage error, 0 otherwise.
import { DiagnosticSeverity, Parser, fromFile } from '@asyncapi/parser';

const SEVERITY = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error('usage: node validate.mjs <asyncapi document>');
  process.exit(2);
}

let output;
try {
  output = await fromFile(new Parser(), file).parse();
} catch (error) {
  console.error(`${file}: cannot be parsed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const { document, diagnostics } = output;
for (const d of diagnostics) {
  const where = d.path && d.path.length > 0 ? d.path.join('.') : '(document)';
  const line = d.range ? `:${d.range.start.line + 1}` : '';
  console.log(`${SEVERITY[d.severity] ?? d.severity} ${file}${line} ${where}: ${d.message} [${d.code}]`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
const warnings = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning).length;
if (errors > 0 || document === undefined) {
  console.log(`${file}: INVALID (${errors} error(s), ${warnings} warning(s))`);
  process.exit(1);
}
console.log(`${file}: valid AsyncAPI ${document.version()} (${warnings} warning(s))`);
