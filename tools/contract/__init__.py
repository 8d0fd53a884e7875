"""`vos-infra contract verify`: an app image run on the local Docker engine under the
platform's hardening, with what the platform would give it (throwaway material from an
offline evaluation of the dev stack), and checked clause by clause against the app
contract (docs/APP-CONTRACT.md)."""
