// problems.js -- /app/problems and /app/problems/{id}: the same list and record page as
// incidents (incidents.js), for problems: their incidents and the change that fixes them.
import {renderList, renderOne} from './incidents.js';

export async function render(main, ctx) {
  return ctx.params[0] ? renderOne(main, ctx, 'problems', ctx.params[0]) : renderList(main, ctx, 'problems');
}
