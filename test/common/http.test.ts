import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { installErrorHandler, requireBearer, tokenMatches } from '../../common/http.js';

const build = () => {
  const app = Fastify({ bodyLimit: 1024 });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/x',
    { onRequest: requireBearer(() => 's3cret'), schema: { body: z.object({ n: z.number() }) } },
    async (req) => ({ n: req.body.n }),
  );
  return app;
};

describe('common/http', () => {
  it('compares tokens', () => {
    expect(tokenMatches('a', 'a')).toBe(true);
    expect(tokenMatches('a', 'b')).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });
  it('rejects missing and wrong tokens with a coded 401', async () => {
    const app = build();
    const none = await app.inject({ method: 'POST', url: '/v1/x', payload: { n: 1 } });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    const wrong = await app.inject({ method: 'POST', url: '/v1/x', payload: { n: 1 }, headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
  });
  it('gives zod issues, bad JSON and oversized bodies their own 4xx', async () => {
    const app = build();
    const headers = { authorization: 'Bearer s3cret', 'content-type': 'application/json' };
    const ok = await app.inject({ method: 'POST', url: '/v1/x', payload: { n: 1 }, headers });
    expect(ok.json()).toEqual({ n: 1 });
    const bad = await app.inject({ method: 'POST', url: '/v1/x', payload: { n: 'x' }, headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(bad.json().details[0].path).toBe('/n');
    const json = await app.inject({ method: 'POST', url: '/v1/x', payload: '{"n":', headers });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ code: 'INVALID_BODY' });
    const big = await app.inject({ method: 'POST', url: '/v1/x', payload: JSON.stringify({ n: 1, pad: 'x'.repeat(4096) }), headers });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'BODY_TOO_LARGE' });
    const nf = await app.inject({ method: 'GET', url: '/nope' });
    expect(nf.statusCode).toBe(404);
  });
});
