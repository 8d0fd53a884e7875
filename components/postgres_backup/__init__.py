"""The PostgreSQL backup service: Barman streaming WAL and taking base backups on a schedule."""
