/**
 * A small well-formedness check for the report (no DOM library in the dev dependencies):
 * every tag closes in order, attributes are quoted, `&` starts an entity, no stray `<`.
 * Returns the elements met, in document order, with their attributes.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
}

const ENTITY = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

export function parseXml(source: string): XmlElement[] {
  const text = source.replace(/^\s*<!DOCTYPE[^>]*>/i, '');
  const elements: XmlElement[] = [];
  const stack: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    const line = text.slice(0, i).split('\n').length;
    throw new Error(`not well-formed (line ${line}): ${why}: ${JSON.stringify(text.slice(i, i + 60))}`);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '&') {
      if (!ENTITY.test(text.slice(i, i + 12))) fail('bare &');
      i++;
      continue;
    }
    if (c !== '<') {
      i++;
      continue;
    }
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i);
      if (end < 0) fail('unclosed comment');
      i = end + 3;
      continue;
    }
    const close = /^<\/([A-Za-z][\w:.-]*)\s*>/.exec(text.slice(i));
    if (close) {
      const open = stack.pop();
      if (open !== close[1]) fail(`</${close[1]}> closes <${open ?? 'nothing'}>`);
      i += close[0].length;
      continue;
    }
    const tag = /^<([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"<]*")*)\s*(\/?)>/.exec(text.slice(i));
    if (!tag) fail('malformed tag');
    const attributes: Record<string, string> = {};
    for (const [, k, v] of tag![2]!.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) {
      if (k! in attributes) fail(`duplicate attribute ${k}`);
      attributes[k!] = v!;
    }
    elements.push({ name: tag![1]!, attributes });
    if (tag![3] !== '/') stack.push(tag![1]!);
    i += tag![0].length;
  }
  if (stack.length > 0) throw new Error(`not well-formed: unclosed <${stack.join('>, <')}>`);
  return elements;
}
