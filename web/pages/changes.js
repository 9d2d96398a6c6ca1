// changes.js -- /app/changes (the list), /app/changes/new (the RFC form) and
// /app/changes/{id} (one change): one page module that hands over to the file for each.
export async function render(main, ctx) {
  const [first] = ctx.params;
  if (!first) return (await import('./changes_list.js')).renderList(main, ctx);
  if (first === 'new') return (await import('./change_form.js')).renderForm(main, ctx);
  return (await import('./change_view.js')).renderView(main, ctx, decodeURIComponent(first));
}
