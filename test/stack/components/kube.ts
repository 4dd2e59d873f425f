import type { Component } from '../component.js';

// Placeholder so the registry can import it; the real implementation follows.
export const kube: Component = {
  name: 'kube',
  async install() {},
  async up() { throw new Error('kube component not implemented yet'); },
  async down() {},
  async status() { return false; },
  env() { return {}; },
};
