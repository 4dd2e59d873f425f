import { expect } from 'chai';
import { checkPathTemplate, formatGoLayout, renderPathTemplate } from '../../../src/validation/path-template.js';

const when = new Date(Date.UTC(2026, 10, 22, 3, 4, 5, 67));
const values = { Name: 'mysql-daily-29112345', Namespace: 'prod', ScheduleName: 'mysql-daily', StorageName: 'minio', now: when };

describe('storage path templates', () => {
  it("renders seed 002's path with Go's reference-time layout", () => {
    expect(renderPathTemplate('/backups/mysql-{{ now | date "2006.01.02-15:04:05" }}.sql', values)).to.equal(
      '/backups/mysql-2026.11.22-03:04:05.sql',
    );
  });
  it('renders variables and pipelines', () => {
    expect(renderPathTemplate('{{ .Namespace }}/{{.ScheduleName}}/{{ .Name | upper }}', values)).to.equal(
      'prod/mysql-daily/MYSQL-DAILY-29112345',
    );
  });
  it('leaves text without actions untouched', () => {
    expect(renderPathTemplate('/plain/key.sql', values)).to.equal('/plain/key.sql');
  });
  const layouts: Array<[string, string]> = [
    ['2006-01-02T15:04:05Z07:00', '2026-11-22T03:04:05Z'],
    ['Jan _2 06', 'Nov 22 26'],
    ['Monday January 2', 'Sunday November 22'],
    ['3:04PM', '3:04AM'],
    ['20060102-150405.000', '20261122-030405.067'],
  ];
  for (const [layout, expected] of layouts) {
    it(`formats Go layout "${layout}"`, () => expect(formatGoLayout(when, layout)).to.equal(expected));
  }
  const invalid: Array<[string, RegExp]> = [
    ['{{ .Cluster }}', /unknown variable "\.Cluster"/],
    ['{{ env "HOME" }}', /unknown function "env"/],
    ['{{ now | date }}', /quoted Go layout/],
    ['{{ now', /without a matching "}}"/],
    ['a }} b', /without a matching "{{"/],
    ['{{ now | }}', /empty command/],
    ['{{ now ; }}', /unexpected character/],
  ];
  for (const [template, problem] of invalid) {
    it(`rejects ${template}`, () => expect(checkPathTemplate(template)).to.match(problem));
  }
  it('accepts every documented variable and function', () => {
    expect(checkPathTemplate('{{ .Name }}{{ .Namespace }}{{ .ScheduleName }}{{ .StorageName }}{{ now | date "2006" | lower }}')).to.equal(
      undefined,
    );
  });
});
