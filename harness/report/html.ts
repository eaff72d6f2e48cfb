/**
 * The HTML reporter: report.html, one self-contained file (html/page.ts) written once at the end.
 */
import { reportHtml } from './html/page.js';
import type { Reporter, ReportContext } from './reporter.js';
import { writeReportFile } from './reporter.js';
import type { RunResults } from './results-types.js';

export { reportHtml } from './html/page.js';

export class HtmlReporter implements Reporter {
  readonly name = 'html';
  constructor(private readonly fileName = 'report.html') {}

  onEnd(results: RunResults, context: ReportContext): string[] {
    return writeReportFile(context, this.fileName, reportHtml(results));
  }
}
