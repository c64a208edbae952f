"""The console: server-rendered pages for operators, departments, coordinators, leaders and
citizens, calling the four services' HTTP APIs with the signed-in user's own credential."""
