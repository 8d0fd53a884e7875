"""Grafana: HTTPS, no anonymous access, datasources and dashboards provisioned from code."""
