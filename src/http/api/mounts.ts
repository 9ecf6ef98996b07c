import type { Router } from 'express';
import type { AppDeps } from '../../app';

/** The management and reporting API under /api/v1 (none yet). */
export function managementMounts(_deps: AppDeps): [string, Router][] {
  return [];
}
