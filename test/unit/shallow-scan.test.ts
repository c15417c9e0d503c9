/** Where a value sits in a JSON line, found from its shallow structure (shallow-scan.ts). */
import { describe, expect, it } from 'vitest';
import { lastMemberSpan, ShallowScanner, valueSpan } from '../../src/transport/shallow-scan.js';

/** The text of the value at `path`, the line scanned in pieces of `piece` bytes. */
function spanText(text: string, path: string[], piece = 1 << 16): string | undefined {
  const line = Buffer.from(text);
  const scan = new ShallowScanner(path.length);
  for (let at = 0; at < line.length; at += piece) scan.push(line.subarray(at, at + piece));
  const span = valueSpan(line, scan, path);
  return span && line.subarray(span.start, span.end).toString();
}

const INPUT = ['payload', 'input'];

describe('valueSpan', () => {
  const values = [
    '{"a":[1,2,{"b":"}]\\"{["}],"c":null}',
    '[1,[2,[3]]]',
    '"a string with \\" and \\\\ and } and ,"',
    '"\\\\"',
    '12.5e-3',
    'true',
    'null',
    '{}',
    '[]',
    '""',
    '"ż🐢"',
  ];
  for (const value of values) {
    for (const piece of [1, 3, 1 << 16]) {
      it(`finds ${value.slice(0, 24)} wherever the member stands (pieces of ${piece})`, () => {
        const lines = [
          `{"id":"1","action":"call","payload":{"target":"echo","input":${value}}}`,
          `{"payload":{"input":${value},"target":"echo"},"id":"1","action":"call"}`,
          ` { "id" : 1 , "payload" : { "input" :  ${value}  , "x" : [ ] } } `,
          `{"id":"1","payload":{"t":{"input":0},"input":${value}},"$frames":[3]}`,
        ];
        for (const line of lines) {
          expect(spanText(line, INPUT, piece), line).toBe(value);
          expect(JSON.parse(line).payload.input).toEqual(JSON.parse(value));
        }
      });
    }
  }

  it('finds a top-level member', () => {
    expect(spanText('{"id":"7","success":true,"result":[1,2]}', ['result'])).toBe('[1,2]');
  });

  it('finds nothing where the path is absent, repeated or not an object', () => {
    for (const line of [
      '{"id":"1","payload":{"target":"echo"}}',
      '{"id":"1","payload":[{"input":1}]}',
      '{"id":"1","payload":"input"}',
      '{"id":"1","payload":{"input":1,"input":2}}',
      '{"payload":{"input":1},"payload":{"input":2}}',
      '{"id":"1","input":{"payload":1}}',
      '[{"payload":{"input":1}}]',
    ]) {
      expect(spanText(line, INPUT), line).toBeUndefined();
    }
  });

  it('finds nothing in a line that is not one well-formed object', () => {
    for (const line of [
      '{"payload":{"input":[1,2}}', // unbalanced
      '{"payload":{"input":"open}}', // a string never closed
      '{"payload":{"input":1}}}', // a close with nothing open
      '{"payload":{"input":1}} {"x":1}', // two values
      '{"payload":{"input":1 2}}', // two values where one goes
      '{"payload":{"input":"a" "b"}}',
      '{"payload":{"input":"a":"b"}}',
      '{"payload":{"input":}}',
      '{"payload":{"input" 1}}',
      '{"payload":{input:1}}',
      '{"payload":{"input":[1]]}}',
      '{"payload":{"input":{1}]}}',
    ]) {
      expect(spanText(line, INPUT), line).toBeUndefined();
    }
  });

  it('gives up on a line whose top levels hold too many marks', () => {
    const line = `{"payload":{"input":1,${Array.from({ length: 5000 }, (_, i) => `"k${i}":0`).join(',')}}}`;
    expect(spanText(line, INPUT)).toBeUndefined();
    const deep = `{"payload":{"input":[${Array.from({ length: 5000 }, () => '[0]').join(',')}]}}`;
    expect(spanText(deep, INPUT)).toBe(JSON.stringify(JSON.parse(deep).payload.input));
  });
});

describe('lastMemberSpan (a member its writer puts last, as the runner does with `result`)', () => {
  const span = (text: string) => {
    const line = Buffer.from(text);
    const found = lastMemberSpan(line, 'result');
    return found && line.subarray(found.start, found.end).toString();
  };

  it('takes the value from after its key to the line end, or to the `$frames` tail', () => {
    expect(span('{"id":"7","success":true,"result":[1,{"a":"}"}]}')).toBe('[1,{"a":"}"}]');
    expect(span('{"id":"7","success":true,"result": {"x":1} } ')).toBe('{"x":1}');
    expect(span('{"id":"7","success":true,"result":{"a":{"$bytes":0}},"$frames":[5]}')).toBe(
      '{"a":{"$bytes":0}}',
    );
    expect(span('{"id":"7","success":true,"result":{"$frames":[1]},"$frames":[3,4]}')).toBe(
      '{"$frames":[1]}',
    );
    expect(span('{"id":"7","success":true,"result":{"k":{"$frames":[1]}}}')).toBe('{"k":{"$frames":[1]}}');
    expect(span('{"id":"a\\"result\\":","result":"v"}')).toBe('"v"');
  });

  it('finds nothing when the head does not show the member, or the line is not an object', () => {
    expect(span('{"id":"7","success":false,"error":{"code":"X"}}')).toBeUndefined();
    expect(span(`{"id":"7","pad":"${'p'.repeat(5000)}","result":1}`)).toBeUndefined();
    expect(span('["result",1]')).toBeUndefined();
    expect(span('{"id":"7","result":}')).toBeUndefined();
    expect(span('{"id":"7","result":1')).toBeUndefined();
  });
});
