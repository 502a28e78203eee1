"""A self-referential relationship: categories in a tree, read with their children to
any depth (one query per level), or with their chain of parents."""

from typing import Optional

from sqlalchemy.orm import registry
from sqlmodel import Field, Relationship, SQLModel

from sqlmodel_async import Database, Repository


class TreeBase(SQLModel, registry=registry()):
    pass


class Category(TreeBase, table=True):
    __tablename__ = "docs_category"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    parent_id: int | None = Field(
        default=None, foreign_key="docs_category.id", ondelete="CASCADE"
    )
    # remote_side: the parent is the row whose id this row's parent_id names.
    parent: Optional["Category"] = Relationship(
        back_populates="children", sa_relationship_kwargs={"remote_side": "Category.id"}
    )
    children: list["Category"] = Relationship(
        back_populates="parent", sa_relationship_kwargs={"order_by": "Category.name"}
    )


class CategoryTree(SQLModel):
    """A schema that nests itself: read down until a level has no children."""

    id: int
    name: str
    children: list["CategoryTree"] = []


class CategoryPath(SQLModel):
    name: str
    parent: Optional["CategoryPath"] = None


async def main(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(TreeBase.metadata.create_all)
    try:
        async with db.transaction() as session:
            root = Category(name="gear")
            capes = Category(name="capes", parent=root)
            session.add_all([root, capes, Category(name="masks", parent=root)])
            session.add(Category(name="silk capes", parent=capes))
            await session.flush()
            assert root.id is not None

        async with db.reader() as reader:
            tree = await reader.project(Category, CategoryTree).get_one(root.id)
            body = await reader.project(Category, CategoryTree).get_json(root.id)
            [leaf] = await reader.project(Category, CategoryPath).list(name="silk capes")
        assert [child.name for child in tree.children] == ["capes", "masks"]
        assert tree.children[0].children[0].name == "silk capes"
        assert body.startswith(b'{"id":') and b'"name":"silk capes","children":[]' in body
        assert leaf.parent and leaf.parent.parent and leaf.parent.parent.name == "gear"

        async with db.session() as session:
            # The ORM way: load= takes the same path, one SELECT ... IN per level.
            loaded = await Repository(Category, session).get_one(
                root.id, load=[(Category.children, Category.children)]
            )
            assert [child.name for child in loaded.children[0].children] == ["silk capes"]
    finally:
        async with db.engine.begin() as connection:
            await connection.run_sync(TreeBase.metadata.drop_all)
