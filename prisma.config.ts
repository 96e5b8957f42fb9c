// Prisma CLI configuration. Only `prisma generate` is used: migrations are plain SQL in
// prisma/migrations and are applied by `npm run db:migrate` (src/data/migrator.ts),
// because Prisma's schema engine binary cannot be downloaded on these machines.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
