"""Job graphs, with OCA ``queue_job``'s API: ``delayable()``, ``group()``, ``chain()``.

::

    from odoo.addons.job_worker.delay import chain, group

    export = records.delayable(priority=5).export_batch()
    notify = records.delayable().notify_done()
    group(fetch_a, fetch_b).on_done(chain(export, notify)).delay()

``records.delayable(...)`` captures one call (``.set()`` changes its properties);
``a.on_done(b, c)`` makes ``b`` and ``c`` wait until ``a`` is done; ``group(...)``
runs its members side by side; ``chain(...)`` one after the other; groups and chains
nest. ``.delay()`` on any node stores the whole graph in one go: jobs with parents wait
(``wait_dependencies``) until all their parents are done (see the dependency trigger in
``engine/sql/queue_job_runtime.sql``: a cancelled parent cancels its waiting
dependents, a failed one keeps them waiting).
"""

import logging
import uuid
from itertools import pairwise

from .delayable_recordset import as_job
from .no_delay import runs_without_delay
from .prepare import JobProperties, check_delayable_method, prepare_job
from .store import store_jobs, wait_for_new_parents

# Logged under the public module's name (odoo.addons.job_worker.delay), as OCA's is.
_logger = logging.getLogger(f"{__package__.rpartition('.')[0]}.delay")


class _Node:
    """A part of a graph: a single call, a group or a chain."""

    def _heads(self):
        """The delayables that start this node."""
        raise NotImplementedError

    def _tails(self):
        """The delayables that end this node."""
        raise NotImplementedError

    def _graph_of(self):
        """The graph this node belongs to (that of its delayables)."""
        return self._heads()[0]._graph

    def on_done(self, *nodes):
        """Make ``nodes`` wait until this node is done; return this node."""
        for node in nodes:
            for tail in self._tails():
                for head in node._heads():
                    tail._graph.add_edge(tail, head)
        return self

    def delay(self):
        """Store every job of the graph this node belongs to; return them as OCA's
        ``Job`` (or, with a no-delay switch on, run them now in dependency order)."""
        return self._graph_of().delay()


class Delayable(_Node):
    """One call to delay, with its job properties: ``records.delayable(...)``."""

    def __init__(self, records, **properties):
        self.records = records
        self.properties = JobProperties(**properties)
        self._call = None
        self._graph = DelayableGraph(self)
        self._generated_job = None

    def set(self, *args, **kwargs):
        """Change properties: ``.set(priority=5)`` or ``.set({"priority": 5})``."""
        changes = {}
        for mapping in args:
            changes.update(mapping)
        changes.update(kwargs)
        self.properties = self.properties.updated(**changes)
        return self

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        check_delayable_method(self.records, name)

        def capture(*args, **kwargs):
            self._call = (name, args, kwargs)
            return self

        capture.__name__ = name
        return capture

    def _heads(self):
        return [self]

    def _tails(self):
        return [self]

    def __repr__(self):
        if self._call is None:
            return f"Delayable({self.records!r} (no call yet))"
        name, args, kwargs = self._call
        return f"Delayable({self.records!r}.{name}({args!r}, {kwargs!r}))"

    def __del__(self):
        # A call captured and never delayed is usually a forgotten .delay() (OCA warns too).
        if self._call is not None and self._generated_job is None and not self._graph.delayed:
            _logger.warning("Delayable %r was prepared but never delayed", self)


class DelayableGroup(_Node):
    """Delayables (or groups, chains) run side by side: ``group(a, b, c)``."""

    def __init__(self, *nodes):
        if not nodes:
            raise ValueError("a group needs at least one member")
        self.nodes = nodes
        first = nodes[0]._heads()[0]
        for node in nodes[1:]:
            first._graph.merge(node._heads()[0]._graph)

    @property
    def _delayables(self):
        """The delayables of this group, however nested (OCA's name)."""
        return {vertex for node in self.nodes for vertex in _vertices(node)}

    def _heads(self):
        return [head for node in self.nodes for head in node._heads()]

    def _tails(self):
        return [tail for node in self.nodes for tail in node._tails()]


class DelayableChain(_Node):
    """Delayables (or groups, chains) run one after the other: ``chain(a, b, c)``."""

    def __init__(self, *nodes):
        if not nodes:
            raise ValueError("a chain needs at least one member")
        self.nodes = nodes
        for before, after in pairwise(nodes):
            before.on_done(after)

    def _heads(self):
        return self.nodes[0]._heads()

    def _tails(self):
        return self.nodes[-1]._tails()


def _vertices(node):
    if isinstance(node, Delayable):
        return [node]
    return [vertex for member in node.nodes for vertex in _vertices(member)]


def group(*nodes) -> DelayableGroup:
    """Run ``nodes`` side by side; ``.on_done()`` waits for all of them."""
    return DelayableGroup(*nodes)


def chain(*nodes) -> DelayableChain:
    """Run ``nodes`` one after the other, each once the previous is done."""
    return DelayableChain(*nodes)


class DelayableGraph:
    """The delayables linked together, and who waits for whom. Linking two delayables
    merges their graphs into one."""

    def __init__(self, delayable):
        self.vertices = [delayable]
        self.parents = {id(delayable): []}
        self.delayed = False

    def add_edge(self, parent, child):
        """``child`` waits until ``parent`` is done."""
        self.merge(child._graph)
        if parent is child:
            raise ValueError(f"{parent!r} cannot wait for itself")
        if parent not in self.parents[id(child)]:
            self.parents[id(child)].append(parent)

    def merge(self, other):
        """One graph of both; a delayable delayed before may join (see :meth:`delay`)."""
        if other is self:
            return
        for vertex in other.vertices:
            self.vertices.append(vertex)
            self.parents[id(vertex)] = other.parents[id(vertex)]
            vertex._graph = self
        self.delayed = self.delayed and other.delayed

    def delay(self):
        """Store the jobs of the graph's delayables not delayed yet, as one graph; return
        them. A delayable delayed before keeps its job, which waits for its new parents
        too (if it has not started: see :func:`.store.wait_for_new_parents`)."""
        fresh = [vertex for vertex in self._in_dependency_order() if vertex._generated_job is None]
        if self.delayed or not fresh:
            raise RuntimeError("this graph was delayed already")
        for vertex in fresh:
            if vertex._call is None:
                raise ValueError(f"{vertex!r} has no call to delay: call a method on it first")
        prepared = [
            prepare_job(vertex.records, *vertex._call, vertex.properties) for vertex in fresh
        ]
        self.delayed = True
        # OCA's switch: set in any job's environment, the whole graph runs now.
        if any(runs_without_delay(vertex.records.env) for vertex in fresh):
            return [job.perform() for job in prepared]
        stored_before = {
            id(vertex): vertex._generated_job.db_record()
            for vertex in self.vertices
            if vertex._generated_job is not None and hasattr(vertex._generated_job, "db_record")
        }
        graph_uuid = next(
            (record.graph_uuid for record in stored_before.values() if record.graph_uuid), None
        )
        if stored_before:
            graph_uuid = graph_uuid or str(uuid.uuid4())
            for job in prepared:
                job.values["graph_uuid"] = graph_uuid
        position = {id(vertex): index for index, vertex in enumerate(fresh)}
        dependencies = {
            position[id(vertex)]: [
                position[id(parent)] if id(parent) in position else stored_before[id(parent)]
                for parent in self.parents[id(vertex)]
                if id(parent) in position or id(parent) in stored_before
            ]
            for vertex in fresh
        }
        env = fresh[0].records.env
        jobs = [as_job(job) for job in store_jobs(env, prepared, dependencies)]
        for vertex, job in zip(fresh, jobs, strict=True):
            vertex._generated_job = job
        for vertex_id, record in stored_before.items():
            new_parents = [
                parent._generated_job.db_record()
                for parent in self.parents[vertex_id]
                if id(parent) in position
            ]
            if new_parents:
                wait_for_new_parents(record, new_parents, graph_uuid)
        for vertex in self.vertices:
            for parent in self.parents[id(vertex)]:
                _link_jobs(parent._generated_job, vertex._generated_job)
        return jobs

    @staticmethod
    def _ensure_same_graph_uuid(jobs):
        """Give unstored OCA ``Job`` objects one graph UUID (theirs if one has it)."""
        if len(jobs) < 2:
            return
        graph_uuid = next((job.graph_uuid for job in jobs if job.graph_uuid), None)
        graph_uuid = graph_uuid or str(uuid.uuid4())
        for job in jobs:
            if not job.db_record():
                job.graph_uuid = graph_uuid

    def _in_dependency_order(self):
        """Vertices with every parent before its children; ValueError on a cycle."""
        ordered, placed = [], set()
        remaining = list(self.vertices)
        while remaining:
            ready = [
                vertex
                for vertex in remaining
                if all(id(parent) in placed for parent in self.parents[id(vertex)])
            ]
            if not ready:
                raise ValueError(f"these jobs wait for each other in a cycle: {remaining!r}")
            for vertex in ready:
                ordered.append(vertex)
                placed.add(id(vertex))
            remaining = [vertex for vertex in remaining if id(vertex) not in placed]
        return ordered


def _link_jobs(parent, child):
    """Record on OCA ``Job`` objects who waits for whom (``_depends_on``)."""
    if hasattr(child, "_depends_on") and hasattr(parent, "_reverse_depends_on"):
        child._depends_on.add(parent)
        parent._reverse_depends_on.add(child)
