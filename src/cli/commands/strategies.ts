// `pgcloak strategies`: the masking strategies, from the registry (as the README's table is).
import { strategiesTable } from '../../strategies/registry.js';
import { commandModule } from '../shared-options.js';

export const strategiesCommandModule = commandModule('strategies', 'list the masking strategies', (y) => y, () => {
  process.stdout.write(`${strategiesTable()}\n`);
});
