/**
 * Storage path templates, as seed 002 writes them: Go text/template actions with
 * sprig's `now` and `date`, e.g. `/backups/mysql-{{ now | date "2006.01.02-15:04:05" }}.sql`.
 * Only a small, documented subset is accepted, so a typo fails at synth/admission
 * time instead of producing a wrong object key at 3 a.m.
 */
export const PATH_TEMPLATE_VARIABLES = ['.Name', '.Namespace', '.ScheduleName', '.StorageName'] as const;
export const PATH_TEMPLATE_FUNCTIONS = ['now', 'date', 'lower', 'upper'] as const;

export interface PathTemplateValues {
  Name: string;
  Namespace: string;
  ScheduleName?: string;
  StorageName?: string;
  now: Date;
}

type Token = { kind: 'ident' | 'field' | 'string' | 'pipe'; text: string };

function tokenize(action: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\|)|"((?:[^"\\]|\\.)*)"|(\.[A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*)|(\S))/gy;
  let match: RegExpExecArray | null;
  while ((match = re.exec(action)) && match[0].trim() !== '') {
    if (match[1]) tokens.push({ kind: 'pipe', text: '|' });
    else if (match[2] !== undefined) tokens.push({ kind: 'string', text: JSON.parse(`"${match[2]}"`) });
    else if (match[3]) tokens.push({ kind: 'field', text: match[3] });
    else if (match[4]) tokens.push({ kind: 'ident', text: match[4] });
    else throw new Error(`unexpected character "${match[5]}" in {{${action}}}`);
  }
  return tokens;
}

interface Segment {
  literal?: string;
  pipeline?: Token[][];
}

/** Splits an action's tokens at each pipe into commands; an empty command is an error. */
function pipelineOf(action: string): Token[][] {
  const pipeline: Token[][] = [[]];
  for (const token of tokenize(action)) {
    if (token.kind === 'pipe') pipeline.push([]);
    else pipeline[pipeline.length - 1].push(token);
  }
  if (pipeline.some((command) => command.length === 0)) throw new Error(`has an empty command in {{${action}}}`);
  return pipeline;
}

/** Throws when a command names an unknown variable or function, or misuses a string or date. */
function checkCommand(command: Token[], action: string): void {
  const head = command[0];
  if (head.kind === 'field' && !(PATH_TEMPLATE_VARIABLES as readonly string[]).includes(head.text)) {
    throw new Error(`references unknown variable "${head.text}"; known variables are ${PATH_TEMPLATE_VARIABLES.join(', ')}`);
  }
  if (head.kind === 'ident' && !(PATH_TEMPLATE_FUNCTIONS as readonly string[]).includes(head.text)) {
    throw new Error(`references unknown function "${head.text}"; known functions are ${PATH_TEMPLATE_FUNCTIONS.join(', ')}`);
  }
  if (head.kind === 'string' && command.length > 1) throw new Error(`has a string followed by arguments in {{${action}}}`);
  if (head.text === 'date' && (command.length !== 2 || command[1].kind !== 'string')) {
    throw new Error('uses date without a quoted Go layout, e.g. {{ now | date "2006-01-02" }}');
  }
}

function parse(template: string): Segment[] {
  const segments: Segment[] = [];
  let rest = template;
  while (rest.length) {
    const open = rest.indexOf('{{');
    const strayClose = rest.indexOf('}}');
    if (strayClose !== -1 && (open === -1 || strayClose < open)) throw new Error('has "}}" without a matching "{{"');
    if (open === -1) {
      segments.push({ literal: rest });
      break;
    }
    if (open > 0) segments.push({ literal: rest.slice(0, open) });
    const close = rest.indexOf('}}', open);
    if (close === -1) throw new Error('has "{{" without a matching "}}"');
    const action = rest.slice(open + 2, close);
    const pipeline = pipelineOf(action);
    for (const command of pipeline) checkCommand(command, action);
    segments.push({ pipeline });
    rest = rest.slice(close + 2);
  }
  return segments;
}

/** Returns a sentence explaining what is wrong, or undefined when the template is valid. */
export function checkPathTemplate(template: string): string | undefined {
  try {
    parse(template);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Formats a date in UTC with a Go reference-time layout (Mon Jan 2 15:04:05 MST 2006). */
export function formatGoLayout(date: Date, layout: string): string {
  const h12 = date.getUTCHours() % 12 || 12;
  const table: Array<[string, () => string]> = [
    ['January', () => MONTHS[date.getUTCMonth()]],
    ['Monday', () => DAYS[date.getUTCDay()]],
    ['2006', () => String(date.getUTCFullYear())],
    ['Jan', () => MONTHS[date.getUTCMonth()].slice(0, 3)],
    ['Mon', () => DAYS[date.getUTCDay()].slice(0, 3)],
    ['MST', () => 'UTC'],
    ['.000', () => `.${pad(date.getUTCMilliseconds(), 3)}`],
    ['Z07:00', () => 'Z'],
    ['-07:00', () => '+00:00'],
    ['-0700', () => '+0000'],
    ['01', () => pad(date.getUTCMonth() + 1)],
    ['02', () => pad(date.getUTCDate())],
    ['_2', () => String(date.getUTCDate()).padStart(2, ' ')],
    ['15', () => pad(date.getUTCHours())],
    ['03', () => pad(h12)],
    ['04', () => pad(date.getUTCMinutes())],
    ['05', () => pad(date.getUTCSeconds())],
    ['06', () => pad(date.getUTCFullYear() % 100)],
    ['PM', () => (date.getUTCHours() < 12 ? 'AM' : 'PM')],
    ['pm', () => (date.getUTCHours() < 12 ? 'am' : 'pm')],
    ['1', () => String(date.getUTCMonth() + 1)],
    ['2', () => String(date.getUTCDate())],
    ['3', () => String(h12)],
    ['4', () => String(date.getUTCMinutes())],
    ['5', () => String(date.getUTCSeconds())],
  ];
  let out = '';
  for (let i = 0; i < layout.length;) {
    const hit = table.find(([token]) => layout.startsWith(token, i));
    if (hit) {
      out += hit[1]();
      i += hit[0].length;
    } else {
      out += layout[i];
      i += 1;
    }
  }
  return out;
}

/** Renders a template that checkPathTemplate accepted. */
export function renderPathTemplate(template: string, values: PathTemplateValues): string {
  return parse(template)
    .map((segment) => {
      if (segment.literal !== undefined) return segment.literal;
      let value: unknown;
      for (const [head, ...args] of segment.pipeline!) {
        if (head.kind === 'string') value = head.text;
        else if (head.kind === 'field') value = (values as unknown as Record<string, unknown>)[head.text.slice(1)] ?? '';
        else if (head.text === 'now') value = values.now;
        else if (head.text === 'date') value = formatGoLayout(value instanceof Date ? value : values.now, args[0].text);
        else if (head.text === 'lower') value = String(value).toLowerCase();
        else if (head.text === 'upper') value = String(value).toUpperCase();
      }
      return value instanceof Date ? value.toISOString() : String(value);
    })
    .join('');
}
