/** Files that `init` and `create` write. */

export function configTemplate(database: string): string {
  return `import { defineConfig } from 'mongrate';

export default defineConfig({
  uri: process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017',
  database: '${database}',
  migrationsDir: 'migrations',
});
`;
}

export function migrationTemplate(description: string, language: 'ts' | 'js'): string {
  const types = language === 'ts' ? '' : '// @ts-check\n';
  return `${types}import { defineMigration } from 'mongrate';

export default defineMigration({
  description: ${JSON.stringify(description)},

  async up({ db, session, log }) {
    // Write the change; pass \`session\` to every write so it joins the transaction when there is one.
    // const result = await db.collection('users').updateMany({ active: { $exists: false } }, { $set: { active: true } }, { session });
    // log(\`\${result.modifiedCount} users activated\`);
  },

  async down({ db, session }) {
    // Undo exactly what up did. Delete this function if the change cannot be undone.
    // await db.collection('users').updateMany({}, { $unset: { active: '' } }, { session });
  },
});
`;
}
