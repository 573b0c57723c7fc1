// Every file `renderReports` writes, with what it needs on the host. Kept apart from the renderers
// (which load the chart library) so the installer can read it before the npm parts are built.

export interface ReportFormat {
  id: 'html' | 'pdf' | 'markdown' | 'csv' | 'json';
  file: string;
  /** Debian packages the format needs; without them it is skipped with the reason. */
  debianPackages: readonly string[];
  /** A format the user can turn off (`--no-pdf`). */
  optional: boolean;
}

export const reportFormats: readonly ReportFormat[] = [
  { id: 'html', file: 'index.html', debianPackages: [], optional: false },
  { id: 'pdf', file: 'report.pdf', debianPackages: ['chromium'], optional: true },
  { id: 'markdown', file: 'summary.md', debianPackages: [], optional: false },
  { id: 'csv', file: 'stats.csv', debianPackages: [], optional: false },
  { id: 'json', file: 'stats.json', debianPackages: [], optional: false },
];
