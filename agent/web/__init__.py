"""The review web UI (`suture serve`): Starlette + Jinja2 pages over the same use cases as the CLI.

Modules: cli (the `serve` command), app (ASGI app, sessions, sign-in), respond (configuration, templates and
request helpers shared by app, pages and actions), security (binding, CSRF, headers), pages (GET), actions (POST
decisions), views (queue rows), diffview (highlighted diff), usecases (the only door into the application layer).
Templates and static files ship inside the package.
"""
