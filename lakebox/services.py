"""What one worker process shares between requests: the services of every package, wired together."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from analytics.service.analytics import AnalyticsService
from analytics.store.repo import AnalyticsRepository
from audit.service.audit import AuditLog
from audit.store.repo import AuditRepository
from auth.service.secretbox import SecretBox
from auth.service.tokens import TokenService
from infra.db import Database
from infra.jobs import JobStore
from lakebox.metrics import Metrics, metrics_dir
from lakebox.settings import Settings
from management.service.migrations import Migrations
from management.store.migrations import MigrationRepository
from objectstore.service.atrest import AtRest, open_keyring
from objectstore.service.buckets import BucketService
from objectstore.service.domains import CustomDomainService
from objectstore.service.objects import ObjectService
from objectstore.service.placement import LocationMap
from objectstore.service.public import PublicAccessService
from objectstore.service.space import DiskSpace
from objectstore.store.blobs import LocalBlobStore
from objectstore.store.domains import CustomDomainRepository
from objectstore.store.master_keys import MasterKeyRepository
from objectstore.store.public import PublicBucketRepository
from objectstore.store.repo import ObjectRepository

if TYPE_CHECKING:
    from catalog.service.catalog import CatalogService


def blob_store(settings: Settings) -> LocalBlobStore:
    return LocalBlobStore(settings.data_dir, settings.node_id, settings.direct_io, settings.storage_roots())


class Services:
    """Everything one worker process shares between requests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.db_url)
        self.jobs = JobStore(self.db)
        self.secret_box = SecretBox.from_data_dir(settings.data_dir)
        self.tokens = TokenService(self.db, self.secret_box)
        repo = ObjectRepository(self.db)
        keyring = open_keyring(
            MasterKeyRepository(self.db),
            settings.data_dir,
            settings.master_key_file,
            os.environ,
            register=False,
        )
        blobs = blob_store(settings)
        roots = [root.directory for root in blobs.roots.values()]
        space = DiskSpace(
            [blobs.root, blobs.incoming, settings.data_dir, *roots], settings.disk_reserve_mib << 20
        )
        self.objects = ObjectService(
            repo,
            blobs,
            AtRest(keyring, settings.encryption),
            space,
            inline_max=settings.inline_object_kib << 10,
        )
        self.buckets = BucketService(
            repo, LocationMap(settings.hint_locations(), settings.jurisdiction_locations())
        )
        self.public = PublicAccessService(PublicBucketRepository(self.db))
        self.custom_domains = CustomDomainService(CustomDomainRepository(self.db))
        self.metrics = Metrics(metrics_dir(settings.data_dir, settings.node_id))
        self.audit = AuditLog(AuditRepository(self.db), settings.audit_retention_days)
        self.analytics = AnalyticsService(
            AnalyticsRepository(self.db),
            sample_interval=float(settings.analytics_sample_seconds),
            housekeeping=[self.audit.prune],
        )
        self.migrations = Migrations(MigrationRepository(self.db), self.jobs, self.secret_box, self.buckets)
        self._catalog_lock = threading.Lock()
        self._catalog: CatalogService | None = None

    @property
    def catalog(self) -> CatalogService:
        """The catalog service, built on first use: pyiceberg is a large import that the S3 API never needs,
        so it stays out of the server's start-up path (a background warm-up builds it right after start)."""
        if self._catalog is None:
            with self._catalog_lock:
                if self._catalog is None:
                    from catalog.service.catalog import CatalogService
                    from catalog.store.objectstore_files import ObjectStoreFiles

                    # Metadata files are read and written through the object store's service layer (in
                    # process); vended credentials come from the auth service.
                    files = ObjectStoreFiles(self.objects, self.buckets)
                    self._catalog = CatalogService(self.db, files, self.tokens.temporary)
        return self._catalog
