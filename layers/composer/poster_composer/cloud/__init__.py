"""The composer as a service deployed in the stack (``Engine=composer``).

The same core as the local server (validation, `poster_composer.task_view`, `poster_composer.production`)
behind AWS's own parts: an HTTP API in front of the API function (`http_api`), tasks in DynamoDB with a
24 h TTL (`store`), rendering in a worker function fed by an SQS queue (`worker`), results in a private
bucket handed out as presigned GETs on its regional virtual-hosted host (`results`), backgrounds
fetched only from the stack's own buckets (`sources`). Nothing here knows about Lambda: the handlers
in ``functions/composer_api`` and ``functions/composer_worker`` wire it up from `settings`.
"""
