import express from 'express';
import request from 'supertest';
import { matrixParametersRemoved, withoutMatrixParameters } from './matrix-parameters';

describe('withoutMatrixParameters', () => {
  it.each([
    ['/api/heating/1;jsessionid=abc', '/api/heating/1'],
    ['/api/heating/1;jsessionid=abc/turn-on', '/api/heating/1/turn-on'],
    ['/api;v=1/heating;a=b;c=d/1/set-temperature;x?temperature=2;5', '/api/heating/1/set-temperature?temperature=2;5'],
    ['/api/heating/1', '/api/heating/1'],
    ['/api/heating/1?a=b;c', '/api/heating/1?a=b;c'],
    ['/api/heating/1%3Bjsessionid=abc', '/api/heating/1%3Bjsessionid=abc'],
    ['/api/heating/;a=b', '/api/heating/'],
  ])('%s → %s', (target, expected) => {
    expect(withoutMatrixParameters(target)).toBe(expected);
  });
});

describe('matrixParametersRemoved', () => {
  const app = express();
  app.use(matrixParametersRemoved('/api/heating'));
  app.get('/api/heating/:id', (req, res) => {
    res.json({ id: req.params.id, url: req.url, originalUrl: req.originalUrl });
  });
  app.get('/other/:id', (req, res) => {
    res.json({ id: req.params.id });
  });

  it('routes a path under the prefix without its matrix parameters and keeps what the client sent', async () => {
    const res = await request(app).get('/api/heating/7;jsessionid=abc?x=1').expect(200);
    expect(res.body).toEqual({ id: '7', url: '/api/heating/7?x=1', originalUrl: '/api/heating/7;jsessionid=abc?x=1' });
    expect((await request(app).get('/api;v=2/heating;a=b/7').expect(200)).body).toMatchObject({ id: '7' });
  });

  it('leaves paths outside the prefix alone', async () => {
    expect((await request(app).get('/other/7;x=y').expect(200)).body).toEqual({ id: '7;x=y' });
    await request(app).get('/api/heatingx;a=b/7').expect(404);
  });
});
