export * from './result.js';
export * from './snapshot.js';
export * from './finding.js';
export * from './report.js';
export * from './hash.js';
export * from './cluster.js';
