// dashboard_types.ts -- type-checks grafana/dashboards/tidegate.json against
// @grafana/schema's Dashboard type: `tsc --noEmit -p .` fails on an invalid dashboard.
import type { Dashboard } from '@grafana/schema';
import dashboard from '../../grafana/dashboards/tidegate.json';

export const checked: Dashboard = dashboard;
