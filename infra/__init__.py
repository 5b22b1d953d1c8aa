"""Infrastructure every domain package uses: the database engine, group commit, background jobs.

It sits at the bottom of the import graph and imports no domain package (auth, objectstore, catalog, ...)
nor the composition package ``lakebox``.
"""
