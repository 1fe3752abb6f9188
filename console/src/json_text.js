// Reads the editor's text as JSON, and when it is not JSON says where: the
// line and column of the first fault and what was expected there. Browsers'
// own messages do not always give a position, so the fault is found by a
// small scanner of RFC 8259's grammar, run only when JSON.parse refuses.

/**
 * `{ value }`, or `{ error: { message, line, column, offset } }` (line and
 * column from 1).
 */
export function parseJsonText(text) {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    const fault = findFault(text) ?? { offset: text.length, message: error.message };
    return { error: { ...fault, ...lineAndColumn(text, fault.offset) } };
  }
}

function lineAndColumn(text, offset) {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class Fault {
  constructor(offset, message) {
    this.offset = offset;
    this.message = message;
  }
}

// The first fault of `text` as { offset, message }, or null if it is JSON.
function findFault(text) {
  let at = 0;
  const describe = () => (at >= text.length ? 'the end of the text' : `${JSON.stringify(text[at])}`);
  const fail = (expected) => {
    throw new Fault(at, `expected ${expected}, found ${describe()}`);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
  };
  const literal = (word) => {
    for (const char of word) {
      if (text[at] !== char) fail(`"${word}"`);
      at++;
    }
  };
  const string = () => {
    at++; // the opening quote
    for (;;) {
      if (at >= text.length) fail('a closing quote (")');
      const char = text[at];
      if (char === '"') {
        at++;
        return;
      }
      if (char < ' ') throw new Fault(at, 'a control character (such as a line break) must be escaped inside a string');
      if (char === '\\') {
        at++;
        const escape = text[at];
        if (escape === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 1, at + 5))) fail('four hex digits after \\u');
          at += 5;
        } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) {
          at++;
        } else {
          fail('an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX');
        }
      } else {
        at++;
      }
    }
  };
  const number = () => {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(at));
    if (!match || match[0] === '-') fail('a number');
    at += match[0].length;
  };
  const value = () => {
    space();
    const char = text[at];
    if (char === '{') return object();
    if (char === '[') return array();
    if (char === '"') return string();
    if (char === 't') return literal('true');
    if (char === 'f') return literal('false');
    if (char === 'n') return literal('null');
    if (char === '-' || (char >= '0' && char <= '9')) return number();
    return fail('a value (an object, array, string, number, true, false or null)');
  };
  const object = () => {
    at++;
    space();
    if (text[at] === '}') {
      at++;
      return;
    }
    for (;;) {
      space();
      if (text[at] !== '"') fail('a name in double quotes');
      string();
      space();
      if (text[at] !== ':') fail("':' after the name");
      at++;
      value();
      space();
      if (text[at] === ',') {
        at++;
        continue;
      }
      if (text[at] === '}') {
        at++;
        return;
      }
      fail("',' or '}'");
    }
  };
  const array = () => {
    at++;
    space();
    if (text[at] === ']') {
      at++;
      return;
    }
    for (;;) {
      value();
      space();
      if (text[at] === ',') {
        at++;
        continue;
      }
      if (text[at] === ']') {
        at++;
        return;
      }
      fail("',' or ']'");
    }
  };
  try {
    value();
    space();
    if (at < text.length) fail('nothing after the value');
    return null;
  } catch (error) {
    if (error instanceof Fault) return { offset: error.offset, message: error.message };
    return null; // nested too deep for this scanner's stack: the browser's message stands
  }
}
