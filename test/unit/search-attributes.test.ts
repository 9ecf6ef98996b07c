import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_NAMES } from '../../workflows/definitions';

// The compose one-shot registers the search attributes from a shell list; the workflows and the
// local stack use workflows/definitions.ts. A name added to one and not the other would make
// every session start fail in production only (Temporal refuses an unregistered attribute).

test('deploy/register-search-attributes.sh registers exactly the search attributes the workflows use', () => {
  const script = readFileSync(path.join(__dirname, '..', '..', 'deploy', 'register-search-attributes.sh'), 'utf8');
  const listed = /^ATTRIBUTES="([^"]*)"$/m.exec(script)?.[1]?.split(/\s+/).filter(Boolean);
  expect(listed?.sort()).toEqual([...SEARCH_ATTRIBUTE_NAMES].sort());
  expect(SEARCH_ATTRIBUTE_NAMES).toHaveLength(6);
});
